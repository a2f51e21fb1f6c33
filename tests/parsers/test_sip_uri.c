/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

Test(sip_uri, placeholder)
{
	cr_skip_test("being written");
}
