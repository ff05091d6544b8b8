package api

import "encoding/binary"

// BatchContentType is the media type of a batch append (POST
// /logs/{log}/batch): entries one after the other, each a 4-byte big-endian
// length and that many bytes. The venue takes at most 256 non-empty entries
// in one body.
const BatchContentType = "application/vnd.goodoffices.entries"

// AppendBatch appends entries to dst as the body of a batch append
// (BatchContentType) and returns the extended slice.
func AppendBatch(dst []byte, entries ...[]byte) []byte {
	for _, e := range entries {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(e)))
		dst = append(dst, e...)
	}
	return dst
}
