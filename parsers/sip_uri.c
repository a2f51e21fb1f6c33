/* SPDX-License-Identifier: MIT */
/* sip_uri.c: placeholder, being written. */
#include "sip_uri.h"
