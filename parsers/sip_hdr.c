/* SPDX-License-Identifier: MIT */
/* sip_hdr.c: placeholder, being written. */
#include "sip_hdr.h"
