#pragma once
// Text into HTML (and inline SVG): the five characters that could end a text or an attribute.
#include <string>
#include <string_view>

namespace ffn {

std::string html_escape(std::string_view text);

}  // namespace ffn
