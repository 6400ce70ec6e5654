/** Stage names (family-verb, as VPP and Cilium name theirs). */
export const S = {
  FRAME_INPUT: 'frame-input',
  VETH_XMIT: 'veth-xmit',
  ETHERNET_INPUT: 'ethernet-input',
  ARP_INPUT: 'arp-input',
  IP4_INPUT: 'ip4-input',
  IP4_DEFRAG: 'ip4-defrag',
  IP4_LOOKUP: 'ip4-lookup',
  IP4_LOCAL: 'ip4-local',
  IP4_FORWARD: 'ip4-forward',
  IP4_OUTPUT: 'ip4-output',
  VXLAN4_ENCAP: 'vxlan4-encap',
  VXLAN4_DECAP: 'vxlan4-decap',
  UNDERLAY_XMIT: 'underlay-xmit',
} as const;
