// A frame codecs module from "another build": its table's interface number is not this one's,
// so frame_io must refuse it in one line instead of calling through a table of another shape.
#include "metrics/frame_codecs.hpp"

extern "C" const ffn::FrameCodecs* ffn_frame_codecs() {
  static const ffn::FrameCodecs other{ffn::k_frame_codecs_abi + 1, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return &other;
}
