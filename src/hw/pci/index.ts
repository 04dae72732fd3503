// Public surface of the PCI models (host bridge, config space, BARs, capabilities, MSI/MSI-X, test endpoint).
// src/index.ts re-exports from here; nothing in this folder imports it.
export { PciHost, ECAM_SIZE, CONFIG_ADDRESS_PORT, CONFIG_DATA_PORT, CONFIG_ADDRESS_ENABLE, CONFIG_ADDRESS_MASK } from './pci-host.js';
export type { PciHostOptions, PciHostUpstream } from './pci-host.js';
export { PciFunction } from './pci-function.js';
export type { PciFunctionOptions, FunctionBinding } from './pci-function.js';
export { PCI_FUNCTION_STATE_FORMAT } from './function-state.js';
export type { PciFunctionState, PciBarShape } from './function-state.js';
export { ConfigSpace, CONFIG_SPACE_SIZE, CONVENTIONAL_CONFIG_SIZE } from './config-space.js';
export type { AccessSize, FieldSpec } from './config-space.js';
export { Bar } from './bar.js';
export type { BarKind, BarSpec } from './bar.js';
export { CapabilityList } from './capability.js';
export type { CapabilityHost, CapabilityRegister, PciCapability } from './capability.js';
export { MsiCapability, msiLayout, PCI_CAP_ID_MSI } from './msi-capability.js';
export type { MsiOptions, MsiLayout, MsiFireOutcome, MsiSuppressReason, MsiState, MsiVectors } from './msi-capability.js';
export { MsixCapability, PCI_CAP_ID_MSIX } from './msix-capability.js';
export type { MsixOptions, MsixFireOutcome, MsixSuppressReason, MsixState } from './msix-capability.js';
export { MsiEndpoint, MSI_ENDPOINT_VENDOR_ID, MSI_ENDPOINT_DEVICE_ID, MSI_ENDPOINT_CLASS, MSI_ENDPOINT_STATE_FORMAT } from './msi-endpoint.js';
export type { MsiEndpointState, MsiEndpointOptions, DoorbellOutcome, EndpointMode, EndpointSuppressReason } from './msi-endpoint.js';
export { parseBdf, formatBdf } from './bdf.js';
export type { Bdf } from './bdf.js';
export { PciError, PciUsageError, PciLayoutError, PciStateError } from './errors.js';
export type { PciEvent } from './errors.js';
export { PcieRootPort, ROOT_PORT_VENDOR_ID, ROOT_PORT_DEVICE_ID, ROOT_PORT_CLASS } from './root-port.js';
export type { PcieRootPortOptions } from './root-port.js';
export { PcieRootPortCapability, PCI_CAP_ID_EXP, PCI_EXP_TYPE_ROOT_PORT } from './pcie-capability.js';
export type { PcieRootPortCapOptions } from './pcie-capability.js';
