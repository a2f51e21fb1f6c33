/* SPDX-License-Identifier: MIT */
/* sip_build.c: placeholder, being written. */
#include "sip_build.h"
