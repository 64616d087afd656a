// Helpers shared by the SA file tests.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sa_file.h"

namespace ov2::test {

// Key material used by the tests (hex). Messages must never contain any of it.
inline const std::string kKey8 = "0001020304050607";
inline const std::string kKey16 = "c0ffee0102030405060708090a0b0c0d";
inline const std::string kKey20 = kKey16 + "10111213";
inline const std::string kKey24 = kKey16 + "1415161718191a1b";
inline const std::string kKey32 = kKey24 + "1c1d1e1f20212223";
inline const std::string kSalt = "a0a1a2a3";

std::vector<uint8_t> bytes(const std::string& hex);

// The InputError message for `text`; a test failure if it loads. Also asserts the message is one line and
// carries no key-like hex run.
std::string error_of(const std::string& text, const std::string& name);

// True when `message` holds a run of 16+ hex digits (i.e. something that could be a key).
bool has_key_like_run(const std::string& message);

}  // namespace ov2::test
