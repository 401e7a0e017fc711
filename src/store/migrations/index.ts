/**
 * Versioned schema migrations, applied in order at open. Never edit a
 * published migration: add the next one. `version` is stored in
 * SQLite's `user_version`.
 */
import { m001Initial } from './001-initial.ts'
import { m002Reputation } from './002-reputation.ts'
import { m003Offers } from './003-offers.ts'
import { m004Requests } from './004-requests.ts'
import { m005ApiKeys } from './005-api-keys.ts'
import { m006Jobs } from './006-jobs.ts'
import { m007JobBandit } from './007-job-bandit.ts'
import { m008BanExpiry } from './008-ban-expiry.ts'
import { m009Amounts } from './009-amounts.ts'
import { m010Market } from './010-market.ts'
import { m011Contracts } from './011-contracts.ts'
import { m012Verify } from './012-verify.ts'
import { m013Needs } from './013-needs.ts'
import { m014SubtaskVerification } from './014-subtask-verification.ts'
import { m015VerifyStandings } from './015-verify-standings.ts'
import { m016DecisionEnvelopes } from './016-decision-envelopes.ts'
import { m017SyncCursors } from './017-sync-cursors.ts'
import { m018DecisionPay } from './018-decision-pay.ts'
import { m019ReceiptParts } from './019-receipt-parts.ts'
import { m020FinalizeEnvelopes } from './020-finalize-envelopes.ts'
import { m021ReceiptVoids } from './021-receipt-voids.ts'
import { m022Packages } from './022-packages.ts'

export interface Migration {
  version: number
  name: string
  up: string
}

export const MIGRATIONS: readonly Migration[] = [
  m001Initial,
  m002Reputation,
  m003Offers,
  m004Requests,
  m005ApiKeys,
  m006Jobs,
  m007JobBandit,
  m008BanExpiry,
  m009Amounts,
  m010Market,
  m011Contracts,
  m012Verify,
  m013Needs,
  m014SubtaskVerification,
  m015VerifyStandings,
  m016DecisionEnvelopes,
  m017SyncCursors,
  m018DecisionPay,
  m019ReceiptParts,
  m020FinalizeEnvelopes,
  m021ReceiptVoids,
  m022Packages
]
