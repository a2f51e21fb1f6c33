/* SPDX-License-Identifier: MIT */
/* sip_check.c: placeholder, being written. */
#include "sip_check.h"
