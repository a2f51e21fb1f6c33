/* SPDX-License-Identifier: MIT */
#include <stdio.h>
int main(void)
{
	puts("sipringctl: being written");
	return 0;
}
