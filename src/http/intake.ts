/** What one request may take of the port's intake bounds, and when it is done taking. */
export interface Intake {
  /** Accounts for `bytes` more of body; throws `resource_exhausted` past a bound. */
  take(bytes: number): void;
  /** The body has fully arrived. */
  finish(): void;
}
