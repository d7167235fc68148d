// The DHCP agent scheduler's errors, named and worded as Neutron's
// (neutron_lib/exceptions/dhcpagentscheduler.py); the type is the class name, the status follows
// FAULT_MAP (InvalidDHCPAgent is an AgentNotFound, so 404; the others are Conflicts, 409).
import { conflict, notFound } from '../../core/errors.js';

export const invalidDhcpAgent = (agentId: string) => notFound('InvalidDHCPAgent', `Agent ${agentId} is not a valid DHCP Agent or has been disabled.`);

export const networkHostedByDhcpAgent = (networkId: string, agentId: string) =>
  conflict('NetworkHostedByDHCPAgent', `The network ${networkId} has been already hosted by the DHCP Agent ${agentId}.`);

export const networkNotHostedByDhcpAgent = (networkId: string, agentId: string) =>
  conflict('NetworkNotHostedByDhcpAgent', `The network ${networkId} is not hosted by the DHCP Agent ${agentId}.`);
