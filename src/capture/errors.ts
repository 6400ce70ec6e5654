import { DpemuError } from '../util/errors.js';

/** Stable codes a script can switch on; the message carries the details for people. */
export type CaptureErrorCode =
  | 'FILE_NOT_FOUND'
  | 'READ_FAILED'
  | 'WRITE_FAILED'
  | 'EMPTY_FILE'
  | 'UNKNOWN_FORMAT'
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'BAD_LINKTYPE'
  | 'TRUNCATED_FILE_HEADER'
  | 'TRUNCATED_RECORD'
  | 'TRUNCATED_BLOCK'
  | 'BAD_CAPLEN'
  | 'BAD_BLOCK_LENGTH'
  | 'BAD_BLOCK_TRAILER'
  | 'BAD_OPTION_LENGTH'
  | 'BAD_INTERFACE_ID'
  | 'BLOCK_BEFORE_SHB'
  | 'BAD_TIMESTAMP_RESOLUTION';

/**
 * A capture file that cannot be read further. `offset` is the byte offset in the file of the record or block
 * that is damaged; every frame before it has been delivered already.
 */
export class CaptureFileError extends DpemuError {
  declare readonly code: CaptureErrorCode;
  readonly file: string;
  readonly blockType: string;
  readonly offset: number;
  readonly detail: string;

  constructor(
    code: CaptureErrorCode,
    file: string,
    blockType: string,
    offset: number,
    detail: string,
    hint = 'the file is damaged or truncated; frames before this offset were delivered. Re-capture the traffic, or cut the file before this offset (e.g. `editcap -r`) to use the good part',
    options?: { cause?: unknown },
  ) {
    super(code, `${file}: ${blockType} at byte offset ${offset}: ${detail} [${code}]; ${hint}`, options);
    this.file = file;
    this.blockType = blockType;
    this.offset = offset;
    this.detail = detail;
  }
}
