// PostgreSQL's one-dimensional array text form, {a,"b c",NULL}: how arrays
// cross the engine until it has array types of its own (catalogue ACL
// columns, ARRAY(subquery), array_to_string, = ANY (array)).
//
// Output quotes an element when array_in would misread it (empty, NULL,
// braces, commas, quotes, backslashes, white space); input accepts what
// output makes and PostgreSQL's own output of text arrays.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bgw::sql {

using TextArray = std::vector<std::optional<std::string>>;  // nullopt = NULL

std::string FormatTextArray(const TextArray& elements);
// nullopt when `text` is not an array literal of one dimension.
std::optional<TextArray> ParseTextArray(std::string_view text);

}  // namespace bgw::sql
