/**
 * `agora jobs submit` flags → a job spec: param values, deadlines, credits,
 * items files and the one-input rule, each mistake a usage error (E600)
 * naming the flag. The spec built is checked against the real schema.
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseParamValue, parseParams, parseDuration, parseDeadline, creditsFlag, parseItems, inputSource, buildJobSpec, type SubmitFlags } from '../../../src/cli/jobs-args.ts'
import { jobSpecSchema } from '../../../src/jobs/types.ts'
import { isAgoraError } from '../../../src/errors.ts'

const usage = (pattern: RegExp) => (err: unknown): boolean => isAgoraError(err, 'E600') && pattern.test(err.format())

describe('--param', () => {
  test('numbers, booleans, null and JSON values are parsed; anything else is a string', () => {
    assert.equal(parseParamValue('400'), 400)
    assert.equal(parseParamValue('-0.25'), -0.25)
    assert.equal(parseParamValue('1e3'), 1000)
    assert.equal(parseParamValue('true'), true)
    assert.equal(parseParamValue('false'), false)
    assert.equal(parseParamValue('null'), null)
    assert.deepEqual(parseParamValue('["a", 2]'), ['a', 2])
    assert.deepEqual(parseParamValue('{"temperature": 0.2}'), { temperature: 0.2 })
    assert.equal(parseParamValue('"quoted"'), 'quoted')
    assert.equal(parseParamValue('llama3.2:3b'), 'llama3.2:3b')
    assert.equal(parseParamValue('007'), '007', 'not a JSON number: kept as written')
    assert.equal(parseParamValue('1e999'), '1e999', 'not finite: kept as written')
    assert.equal(parseParamValue('[INST] {text}'), '[INST] {text}', 'almost JSON stays a string')
    assert.equal(parseParamValue(''), '')
    assert.equal(parseParamValue('True'), 'True')
  })

  test('key=value pairs, split at the first =', () => {
    assert.deepEqual(parseParams(['model=llama3.2:3b', 'chunkTokens=400', 'prompt=a=b', 'overlap=0', 'strict=true']), {
      model: 'llama3.2:3b', chunkTokens: 400, prompt: 'a=b', overlap: 0, strict: true
    })
    assert.deepEqual(parseParams([]), {})
  })

  test('a missing =, a bad name or a repeated key is a usage error', () => {
    assert.throws(() => parseParams(['model']), usage(/--param takes key=value, not 'model'/))
    assert.throws(() => parseParams(['=3']), usage(/'' is not a parameter name/))
    assert.throws(() => parseParams(['9lives=3']), usage(/'9lives' is not a parameter name/))
    assert.throws(() => parseParams(['a=1', 'a=2']), usage(/--param a is given twice/))
  })
})

describe('--deadline', () => {
  const now = Date.parse('2026-11-20T12:00:00Z')

  test('durations: s, m, h, d, ms and combinations', () => {
    assert.equal(parseDuration('30s'), 30_000)
    assert.equal(parseDuration('10m'), 600_000)
    assert.equal(parseDuration('2h'), 7_200_000)
    assert.equal(parseDuration('1h30m'), 5_400_000)
    assert.equal(parseDuration('1.5d'), 129_600_000)
    assert.equal(parseDuration('1500ms'), 1500)
    for (const text of ['10', 'm', '10 m', '10min', '-5m', '1h 30m', '']) assert.equal(parseDuration(text), undefined, text)
  })

  test('a duration counts from now; an ISO time is taken as is', () => {
    assert.equal(parseDeadline('10m', now), now + 600_000)
    assert.equal(parseDeadline('2026-11-20T18:00:00Z', now), Date.parse('2026-11-20T18:00:00Z'))
    assert.equal(parseDeadline('2026-11-21', now), Date.parse('2026-11-21'))
  })

  test('malformed, past or too-short deadlines are usage errors', () => {
    assert.throws(() => parseDeadline('soon', now), usage(/--deadline takes a duration or an ISO time, not 'soon'.*10m/))
    assert.throws(() => parseDeadline('600', now), usage(/not '600'/))
    assert.throws(() => parseDeadline('2026-11-20T11:00:00Z', now), usage(/is in the past/))
    assert.throws(() => parseDeadline('2026-13-45', now), usage(/not '2026-13-45'/))
    assert.throws(() => parseDeadline('500ms', now), usage(/too short/))
  })
})

describe('credits, items and the input', () => {
  test('credits: decimals with at most six places, sent as six-decimal strings; anything else is a usage error (E600) naming the flag', async () => {
    assert.equal(await creditsFlag('--max-price', '0.5'), '0.500000')
    assert.equal(await creditsFlag('--budget', '0'), '0.000000')
    assert.equal(await creditsFlag('--budget', '0.000001'), '0.000001')
    for (const text of ['-1', 'cheap', '', 'Infinity', '0.1234567', '1e-7']) {
      await assert.rejects(creditsFlag('--max-price', text), (err: unknown) => isAgoraError(err, 'E600') && err.what.includes('--max-price') && err.why !== undefined, text)
    }
  })

  test('an items file is one JSON value per line; a bad line is named', () => {
    assert.deepEqual(parseItems('{"prompt":"a"}\n\n"b"\n3\n', 'p.jsonl'), [{ prompt: 'a' }, 'b', 3])
    assert.throws(() => parseItems('{"prompt":"a"}\n{oops}\n', 'p.jsonl'), usage(/p\.jsonl line 2 is not JSON/))
    assert.throws(() => parseItems('\n  \n', 'p.jsonl'), usage(/p\.jsonl has no items/))
  })

  test('exactly one input', () => {
    assert.deepEqual(inputSource({ file: 'doc.txt' }), { kind: 'file', path: 'doc.txt' })
    assert.deepEqual(inputSource({ text: 'hello' }), { kind: 'text', text: 'hello' })
    assert.deepEqual(inputSource({ itemsFile: 'p.jsonl' }, () => '{"prompt":"hi"}\n'), { kind: 'items', items: [{ prompt: 'hi' }] })
    assert.deepEqual(inputSource({}), { kind: 'items', items: [] }, 'no input flag: an empty item list (the debug types need none; others answer E1004)')
    assert.throws(() => inputSource({ file: 'a', text: 'b' }), usage(/more than one input/))
    assert.throws(() => inputSource({ text: '' }), usage(/--text is empty/))
    assert.throws(() => inputSource({ itemsFile: '/nonexistent/p.jsonl' }), usage(/cannot read \/nonexistent\/p\.jsonl/))
  })
})

describe('buildJobSpec', () => {
  const flags = (extra: Partial<SubmitFlags> = {}): SubmitFlags => ({ type: 'summarize', param: [], model: [], tag: [], ...extra })

  test('flags become params and constraints the real schema accepts', async () => {
    const now = 1_800_000_000_000
    const spec = await buildJobSpec(flags({ param: ['model=llama3.2:3b', 'maxWords=200'], maxPrice: '0.5', budget: '20', deadline: '10m', zone: 'eu-west', model: ['llama3.2:3b'], tag: ['gpu'] }), now)
    assert.deepEqual([spec.constraints?.maxPricePerSubtask, spec.constraints?.budget], ['0.500000', '20.000000'], 'sent as six-decimal strings')
    const parsed = jobSpecSchema.parse({ ...spec, input: { kind: 'text', text: 'x' } })
    assert.deepEqual(parsed.params, { model: 'llama3.2:3b', maxWords: 200 })
    assert.deepEqual(parsed.constraints, { maxPricePerSubtask: 500_000, budget: 20_000_000, deadline: now + 600_000, zone: 'eu-west', models: ['llama3.2:3b'], tags: ['gpu'], redundancy: 1 })
  })

  test('no flags: empty params and constraints', async () => {
    const parsed = jobSpecSchema.parse({ ...await buildJobSpec(flags()), input: { kind: 'blob', hash: 'a'.repeat(64), size: 3 } })
    assert.deepEqual(parsed.constraints, { redundancy: 1 })
    assert.deepEqual(parsed.params, {})
  })
})
