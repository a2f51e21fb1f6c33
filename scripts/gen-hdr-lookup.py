#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Prints the body of sip_hdr_lookup() and the compact-form table from SIP_HDR_LIST
# in parsers/sip_msg-t.h. Paste the output into parsers/sip_msg.c after adding a
# header to the list; tests/parsers/test_sip_msg.c checks that every listed name
# maps to its id.
import re, sys, os
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
s = open(os.path.join(root, 'parsers/sip_msg-t.h')).read()
ents = re.findall(r'X\((\w+), "([a-z-]+)", (\'.\'|0)\)', s)
bylen = {}
for id_, name, c in ents:
    bylen.setdefault(len(name), []).append((id_, name))
out = ["\tswitch (len) {",
       "\tcase 1:\n\t\treturn (enum sip_hdr_id)compact_ids[(unsigned char)name[0]];"]
for L in sorted(bylen):
    out.append(f"\tcase {L}:")
    out.append("\t\tswitch (name[0] | 0x20) {")
    byc = {}
    for id_, name in bylen[L]:
        byc.setdefault(name[0], []).append((id_, name))
    for c in sorted(byc):
        out.append(f"\t\tcase '{c}':")
        for id_, name in byc[c]:
            out.append(f"\t\t\tif (name_eq(name, \"{name}\", {L}))\n\t\t\t\treturn SIP_HDR_{id_};")
        out.append("\t\t\treturn SIP_HDR_OTHER;")
    out.append("\t\t}\n\t\treturn SIP_HDR_OTHER;")
out.append("\t}\n\treturn SIP_HDR_OTHER;")
print("\n".join(out))
print("/* compact_ids[] */")
for id_, n, c in ents:
    if c != '0':
        c = c.strip("'")
        print(f"\t['{c}'] = SIP_HDR_{id_}, ['{c.upper()}'] = SIP_HDR_{id_},")
