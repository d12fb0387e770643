/** Largest RPC message a bundle sends or accepts, in bytes (16 MiB). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
