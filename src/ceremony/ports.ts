/**
 * What a ceremony needs from the world besides KMS: the escrow vault (durable, create-only storage of
 * sealed escrows — implemented over escrow/file-store by the CLI), a clock, and a progress sink.
 */
import type { KmsPort } from '../kms/port.js';

/** A sealed escrow as written to durable storage. */
export interface WrittenEscrow {
  /** Path (or id) of the main sealed file. */
  path: string;
  /** Path of the non-secret sidecar. */
  sidecarPath: string;
  /** Every sealed file written, with its SHA-256. */
  files: { path: string; sha256: string; role: string; holder?: string }[];
}

export interface CeremonyDeps {
  kms: KmsPort;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** One line per completed step, e.g. "created key 1234…"; the CLI prints them on stderr. */
  progress(step: string): void;
}
