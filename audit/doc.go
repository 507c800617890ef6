// Package audit keeps Rotor's audit trail: one JSON line per API request
// (refused ones included) and per rotation step, with CloudTrail's field
// names so tools that read CloudTrail read it, hash-chained so that an
// edited, deleted, reordered or truncated line, and a missing or swapped
// file, is detected by Verify (`rotor audit verify`).
//
// # The line
//
// Each line is one JSON object (see Log for the fields) ending in
//
//	"rotorChain":{"file":F,"seq":S,"prev":"<hex>","hash":"<hex>"}}
//
// where F numbers the file (1, 2, ... across size-based rotations), S
// numbers the line across all files (1, 2, ...), prev is the previous
// line's hash (64 zeros before the first line) and hash is the SHA-256 of
// the line's bytes up to, not including, `,"hash":"`. A line therefore
// commits to its own content and to every line before it.
//
// What the chain can and cannot show: an edited line fails its own hash; a
// deleted, inserted or reordered line breaks the sequence and the prev
// link; a missing or swapped file breaks the file numbering and the link
// between the last line of one file and the first of the next; a write cut
// short leaves a partial last line. Lines removed from the very end of the
// newest file leave a shorter but consistent chain: only an anchor kept
// elsewhere (the last seq and hash, which Verify prints, or the log shipped
// off the machine) shows those. The hash is not keyed: it detects tampering
// by anyone who does not also recompute every later hash.
//
// # Durability and failure
//
// The request path never writes the file. A record is put in a bounded
// in-memory buffer; one goroutine writes and fsyncs batches (group commit).
// Before a request is served, room for its record is reserved (Begin), so a
// request that is served always has its record in the buffer, and a record
// leaves the buffer only once written and fsynced. What a crash can lose is
// therefore bounded by the buffer: records of requests answered in the last
// moments before the crash (the batch window, BatchDelay, plus one fsync).
//
// When the file cannot be written (disk full, permissions, I/O error) the
// writer keeps the batch and retries every RetryInterval. Meanwhile, with
// OnFailure = Refuse (the default), Begin refuses every new request with an
// EUNAVAILABLE error (the wire layer answers 503 ServiceUnavailableException,
// which the AWS SDKs retry); with OnFailure = Serve, requests are served
// while the buffer has room, and a record that finds no room is counted in
// Stats.Dropped and logged at error level — never dropped silently. A full
// buffer (a slow disk) makes Begin wait at most MaxWait before it refuses
// (Refuse) or serves without a reservation (Serve).
package audit
