/* SPDX-License-Identifier: MIT */
#ifndef SIPRING_SIP_HDR_H
#define SIPRING_SIP_HDR_H
#endif
