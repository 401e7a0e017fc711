/**
 * wink-nlp with its English model, as the worker uses it: token and sentence
 * spans in the original text, chunking, sentiment and entities. One wink
 * instance (sentences, negation, sentiment, entities; no part-of-speech,
 * which nothing here needs) serves every call. Worker-side only.
 */
import winkNLP, { type Document, type ItemEntity, type ItsHelpers, type WinkMethods } from 'wink-nlp'
import model from 'wink-eng-lite-web-model'
import { chunkUnits, packChunks, type ChunkLimits, type Span } from './chunker.ts'
import type { Entity, SentimentResult, TextChunk } from './types.ts'

/** Token types left out of the embedding mean and of the token count. */
const NOT_FOR_MEAN = new Set(['punctuation', 'tabCRLF'])

interface TokenInfo {
  values: string[]
  types: string[]
  spans: Span[]
}

export class WinkText {
  private readonly nlp: WinkMethods
  private readonly its: ItsHelpers

  constructor () {
    this.nlp = winkNLP(model, ['sbd', 'negation', 'sentiment', 'ner'])
    this.its = this.nlp.its
  }

  /**
   * Words for the embedding mean (tokens except punctuation and line breaks)
   * and the token count reported for usage (tokens except line breaks).
   */
  wordsForEmbedding (text: string): { words: string[], tokens: number } {
    const doc = this.nlp.readDoc(text)
    const values = doc.tokens().out(this.its.value) as string[]
    const types = doc.tokens().out(this.its.type) as string[]
    const words: string[] = []
    let tokens = 0
    for (let i = 0; i < values.length; i++) {
      const type = types[i] as string
      if (type !== 'tabCRLF') tokens++
      if (!NOT_FOR_MEAN.has(type)) words.push(values[i] as string)
    }
    return { words, tokens }
  }

  chunk (text: string, limits: ChunkLimits): TextChunk[] {
    const doc = this.nlp.readDoc(text)
    const tokens = this.tokenInfo(doc, text)
    if (tokens.spans.length === 0) return []
    const sentences = this.sentenceSpans(doc, tokens)
    const contentTokens = tokens.spans.filter((_, i) => tokens.types[i] !== 'tabCRLF')
    const units = chunkUnits(text, sentences, contentTokens, limits.targetChars)
    return packChunks(units, limits).map(span => ({ text: text.slice(span.start, span.end), start: span.start, end: span.end }))
  }

  sentiment (text: string): SentimentResult {
    const doc = this.nlp.readDoc(text)
    const tokens = this.tokenInfo(doc, text)
    if (tokens.spans.length === 0) return { score: 0, sentences: [] }
    const sentences = this.sentenceSpans(doc, tokens)
    const scores = doc.sentences().out(this.its.sentiment) as unknown as number[]
    return {
      score: doc.out(this.its.sentiment) as unknown as number,
      sentences: sentences.map(span => ({ start: span.start, end: span.end, score: scores[span.index] ?? 0 }))
    }
  }

  entities (text: string): Entity[] {
    const doc = this.nlp.readDoc(text)
    const tokens = this.tokenInfo(doc, text)
    const entities: Entity[] = []
    doc.entities().each((entity: ItemEntity) => {
      const [first, last] = entity.out(this.its.span) as unknown as [number, number]
      const start = tokens.spans[first]?.start
      const end = tokens.spans[last]?.end
      if (start === undefined || end === undefined) return
      entities.push({ value: text.slice(start, end), type: entity.out(this.its.type), start, end })
    })
    return entities
  }

  /** Sentence spans (with wink's sentence index) from the first to the last token, line-break tokens trimmed; blank sentences left out. */
  private sentenceSpans (doc: Document, tokens: TokenInfo): Array<Span & { index: number }> {
    const { spans, types } = tokens
    const blank = (i: number): boolean => types[i] === 'tabCRLF' || (spans[i] as Span).end === (spans[i] as Span).start
    const out: Array<Span & { index: number }> = []
    const all = doc.sentences().out(this.its.span) as unknown as Array<[number, number]>
    for (const [index, [first, last]] of all.entries()) {
      let a = first
      let b = last
      while (a < b && blank(a)) a++
      while (b > a && blank(b)) b--
      if (blank(a)) continue
      const start = spans[a]?.start
      const end = spans[b]?.end
      if (start !== undefined && end !== undefined && end > start) out.push({ start, end, index })
    }
    return out
  }

  /**
   * Token values, types and [start, end) spans. wink-nlp keeps each token's
   * preceding whitespace, so offsets add up; when a value is not found where
   * expected (a normalised token), it is searched for from the cursor.
   */
  private tokenInfo (doc: Document, text: string): TokenInfo {
    const values = doc.tokens().out(this.its.value) as string[]
    const types = doc.tokens().out(this.its.type) as string[]
    const spaces = doc.tokens().out(this.its.precedingSpaces) as string[]
    const spans: Span[] = []
    let cursor = 0
    for (let i = 0; i < values.length; i++) {
      const value = values[i] as string
      let start = cursor + (spaces[i] ?? '').length
      if (!text.startsWith(value, start)) {
        const found = text.indexOf(value, cursor)
        start = found >= 0 ? found : cursor
      }
      const end = Math.min(text.length, start + (text.startsWith(value, start) ? value.length : 0))
      spans.push({ start, end })
      cursor = Math.max(cursor, end)
    }
    return { values, types, spans }
  }
}
