#pragma once
// A tiny bitmap font for labelling charts: printable ASCII in cells of 5x9
// pixels (capitals and digits 7 rows tall above the baseline, two rows for
// descenders), drawn one pixel per font dot times an integer scale.

namespace theanine::font {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 9;  // rows 0-6 above the baseline, 7-8 below
inline constexpr int kAdvance = 6;      // glyph width plus one column of spacing

// Whether the dot at (col, row) of character c is ink. Characters the font
// lacks draw as a hollow box.
bool ink(char c, int col, int row);

}  // namespace theanine::font
