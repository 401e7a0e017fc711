/** The echo engine's names and defaults, in one place. */

/** Source id in the capability registry (and `agora providers list`). */
export const ECHO_PROVIDER_ID = 'echo'

/** The chat model it advertises; peers route `agora/echo` to the nodes whose offer lists it. */
export const ECHO_CHAT_MODEL = 'agora/echo'

/** Put before every answer, so nobody mistakes an echo for a model's reply. */
export const ECHO_LABEL = '[echo from agora/echo]'

/** Tags advertised with the offer. */
export const ECHO_TAGS = ['echo'] as const

export const ECHO_DEFAULTS = {
  /** Calls advertised as runnable at once (offer capacity); an echo costs nothing. */
  slots: 8,
  /** Largest input advertised for the model, in tokens. */
  contextLength: 8192
} as const
