#pragma once
// Two videos scored against each other while they decode: each side decodes on a thread of its
// own, and workers score frame i as soon as both sides have it, one more joining while the
// decoders wait with frames piled up. Scoring thus overlaps decoding (most of the time with
// lossless codecs; when one side decodes slower, the other side's core scores), and only a
// bounded number of frames are held instead of both videos.
#include "metrics/frame_io.hpp"

namespace ffn {

// The scores of compare_videos (the same numbers, frame by frame). Failures, first found first:
// a reader's FrameIoError (A's before B's when both fail); then std::invalid_argument for the
// first frame pair whose sizes or types differ, or that is too small for `kind` ("frame I: ..."),
// which stops the decoding; then std::invalid_argument "frame counts differ: N vs M" once both have ended.
VideoScore compare_streams(FrameReader& a, FrameReader& b, SsimKind kind = SsimKind::gaussian);

}  // namespace ffn
