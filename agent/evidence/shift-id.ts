/**
 * The one form of a shift id, wherever one arrives from outside (a command, a legal hold, an
 * offload confirmation, central's listing): the UTC start, then the device id
 * (`20261122T170059Z-cam-7`, as the daemon names shifts). A looser `[A-Za-z0-9._-]+` let `.` and
 * `..` through, which join() turns into the shifts folder itself or the data dir.
 */
export const SHIFT_ID = /^\d{8}T\d{6}Z-[A-Za-z0-9._-]{1,100}$/;

export const isShiftId = (s: string): boolean => SHIFT_ID.test(s);
