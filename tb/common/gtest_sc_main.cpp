// libsystemc.so calls sc_main, so GoogleTest binaries start from here instead of gtest_main
// (toolchain.md pitfall 8).
#include <gtest/gtest.h>
#include <systemc>

int sc_main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
