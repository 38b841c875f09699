#pragma once
// Text into XML 1.0 and HTML (JUnit files, the HTML report and its inline SVG): the five
// characters that could end a text or an attribute become entities, and characters XML 1.0
// cannot carry become U+FFFD.
#include <string>
#include <string_view>

namespace ffn {

std::string xml_escape(std::string_view text);

}  // namespace ffn
