// Counts global operator new calls while armed (this test binary replaces operator new/delete).
#pragma once

namespace ov2::test {
void arm_allocation_counter();
long disarm_allocation_counter();  // allocations since arm
}  // namespace ov2::test
