/**
 * The wallet and the market (docs/market.md): balances and history, credit
 * limits, contracts, direct requests against a peer's offer and the
 * operator's accept / reject / cancel. The `MarketApi` behind it works in
 * micro-credits; this is where amounts become six-decimal strings. Without
 * a market every route answers 503 E1140.
 */
import type { FastifyInstance } from 'fastify'
import { AgoraError } from '../../errors.ts'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import { contractIdParam, contractsQuery, historyQuery, limitBody, marketPeerParam, marketRequestBody, rejectBody } from '../../client/market-schemas.ts'
import type { MarketApi } from '../../market/types.ts'
import { balanceViewJson, contractJson, peerBalanceJson, walletEntryJson, walletJson } from './market-json.ts'
import { abortOnClose, parse } from './control.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

export function registerMarketRoutes (app: FastifyInstance, { market }: { market?: MarketApi | undefined }): void {
  const api = (): MarketApi => {
    if (market === undefined) throw new AgoraError('E1140', 'the market is not available on this node')
    return market
  }

  app.get(path(ROUTES.wallet.path), async () => walletJson(api().wallet()))
  app.get(path(ROUTES.walletHistory.path), async request => api().history(parse(historyQuery, request.query, 'query')).map(walletEntryJson))
  app.get(path(ROUTES.reconcile.path), async request => {
    const { peer } = parse(marketPeerParam, request.params, 'path')
    const { local, remote, differences } = await api().reconcile(peer, { signal: abortOnClose(request) })
    return { local: balanceViewJson(local), remote: balanceViewJson(remote), differences }
  })

  app.get(path(ROUTES.limits.path), async () => api().wallet().peers.map(peerBalanceJson))
  app.put(path(ROUTES.setLimit.path), async request => {
    const { peer } = parse(marketPeerParam, request.params, 'path')
    const { limit } = parse(limitBody, request.body, 'body')
    return peerBalanceJson(api().setLimit(peer, limit))
  })

  app.get(path(ROUTES.contracts.path), async request => api().contracts(parse(contractsQuery, request.query, 'query')).map(contractJson))
  app.get(path(ROUTES.contract.path), async request => contractJson(api().contract(parse(contractIdParam, request.params, 'path').id)))
  app.get(path(ROUTES.pending.path), async () => api().pending().map(contractJson))
  app.post(path(ROUTES.marketRequest.path), async request => {
    const { offerId, what, quantity, maxUnitPrice, expiresInMs } = parse(marketRequestBody, request.body, 'body')
    const expiresAt = expiresInMs === undefined ? undefined : Date.now() + expiresInMs
    return contractJson(await api().request({ offerId, quantity, maxUnitPrice, ...(what === undefined ? {} : { what }), ...(expiresAt === undefined ? {} : { expiresAt }) }, { signal: abortOnClose(request) }))
  })
  app.post(path(ROUTES.acceptContract.path), async request => contractJson(await api().accept(parse(contractIdParam, request.params, 'path').id)))
  app.post(path(ROUTES.rejectContract.path), async request => {
    const { id } = parse(contractIdParam, request.params, 'path')
    const { reason } = parse(rejectBody, request.body, 'body')
    return contractJson(await api().reject(id, reason))
  })
  app.post(path(ROUTES.cancelContract.path), async request => contractJson(await api().cancel(parse(contractIdParam, request.params, 'path').id)))
}
