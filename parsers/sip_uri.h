/* SPDX-License-Identifier: MIT */
#ifndef SIPRING_SIP_URI_H
#define SIPRING_SIP_URI_H
#endif
