/**
 * Status codes of every Drover error. The numbers are gRPC's, so an error
 * crosses the wire as its own status and HTTP adapters map it once
 * (see httpStatusOf).
 */
export enum Code {
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

const httpStatus: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  // Marathon answers invalid input with 422, and so do we.
  [Code.InvalidArgument]: 422,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 409,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** The HTTP status an error with this code is answered with. */
export function httpStatusOf(code: Code): number {
  return httpStatus[code] ?? 500;
}

/** "InvalidArgument" -> "invalid_argument", as gRPC spells codes in text. */
export function codeName(code: Code): string {
  const name = Code[code] ?? 'Unknown';
  return name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}
