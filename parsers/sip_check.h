/* SPDX-License-Identifier: MIT */
#ifndef SIPRING_SIP_CHECK_H
#define SIPRING_SIP_CHECK_H
#endif
