// sd-notify 2.8 ships no types; only the calls the watchdog uses.
declare module 'sd-notify' {
  const sd: {
    ready(): void;
    stopping(pid?: number): void;
    watchdog(): void;
    /** WATCHDOG_USEC / 1000, or 0 when systemd supervises no watchdog. */
    watchdogInterval(): number;
    sendStatus(text: string): void;
    /** Raw sd_notify state string, e.g. 'READY=1' or 'STOPPING=1'. */
    sendState(state: string): void;
  };
  export default sd;
}
