// Planted: an include not rooted at the project slips past the folder rule.
#include "fault.hpp"
