// Where a binary finds the data files installed with it, without any path into the source or
// build tree: `<prefix>/share/guarded-venue/<relative>` when the binary runs from
// `<prefix>/bin/` (the `cmake --install` layout, and the container images), else the file's name
// beside the binary (the build tree, where CMake copies it next to the executable).
// Reads /proc/self/exe; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace config {

// The directory of the running executable ("" when /proc/self/exe cannot be read).
std::string executable_directory();

// The installed path of `relative` (e.g. "trading-engine/FIX44-venue.xml"): the first of the two
// candidates above that exists, else the installed one (so an error message names it).
std::string installed_data_file(std::string_view relative);

// What --help shows for such a default.
std::string installed_data_file_help(std::string_view relative);

}  // namespace config
