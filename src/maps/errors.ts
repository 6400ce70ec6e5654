import { DpemuError } from '../util/errors.js';

/** A struct schema breaks the layout rules (docs/maps.md "Layout rules"): fix the field list, not the rule. */
export class StructLayoutError extends DpemuError {}

/** A map was declared or called with the wrong shape (key/value size, bad max_entries, missing _v suffix). */
export class MapSpecError extends DpemuError {}

/**
 * Status codes returned by map update/delete, as the kernel's bpf(2) returns them (negative errno).
 * Returned, never thrown: a full map is data on the packet path (Cilium counts DROP_CT_CREATE_FAILED etc.).
 */
export const MAP_OK = 0;
export const ENOENT = -2;
export const E2BIG = -7;
export const EEXIST = -17;
export const EINVAL = -22;
export const ENOSPC = -28;

/** Update flags of bpf_map_update_elem (include/uapi/linux/bpf.h). */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

export type MapStatus = typeof MAP_OK | typeof ENOENT | typeof E2BIG | typeof EEXIST | typeof EINVAL | typeof ENOSPC;
export type UpdateFlags = typeof BPF_ANY | typeof BPF_NOEXIST | typeof BPF_EXIST;
