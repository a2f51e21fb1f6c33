/* SPDX-License-Identifier: MIT */
#ifndef SIPRING_SIP_BUILD_H
#define SIPRING_SIP_BUILD_H
#endif
