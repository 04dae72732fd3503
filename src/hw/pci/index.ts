// Public surface of the PCI models (host bridge, config space, BARs, capabilities, MSI/MSI-X, test endpoint).
// src/index.ts re-exports from here; nothing in this folder imports it.
export { PciHost, ECAM_SIZE, CONFIG_ADDRESS_PORT, CONFIG_DATA_PORT, CONFIG_ADDRESS_ENABLE, CONFIG_ADDRESS_MASK } from './pci-host';
export type { PciHostOptions, PciHostUpstream } from './pci-host';
export { PciFunction } from './pci-function';
export type { PciFunctionOptions, FunctionBinding } from './pci-function';
export { ConfigSpace, CONFIG_SPACE_SIZE, CONVENTIONAL_CONFIG_SIZE } from './config-space';
export type { AccessSize, FieldSpec } from './config-space';
export { Bar } from './bar';
export type { BarKind, BarSpec } from './bar';
export { CapabilityList } from './capability';
export type { CapabilityHost, PciCapability } from './capability';
export { MsiCapability, msiLayout, PCI_CAP_ID_MSI } from './msi-capability';
export type { MsiOptions, MsiLayout, MsiFireOutcome, MsiSuppressReason, MsiState, MsiVectors } from './msi-capability';
export { MsixCapability, PCI_CAP_ID_MSIX } from './msix-capability';
export type { MsixOptions, MsixFireOutcome, MsixSuppressReason, MsixState } from './msix-capability';
export { MsiEndpoint, MSI_ENDPOINT_VENDOR_ID, MSI_ENDPOINT_DEVICE_ID, MSI_ENDPOINT_CLASS } from './msi-endpoint';
export type { MsiEndpointOptions, DoorbellOutcome, EndpointMode, EndpointSuppressReason } from './msi-endpoint';
export { parseBdf, formatBdf } from './bdf';
export type { Bdf } from './bdf';
export { PciError, PciUsageError, PciLayoutError, PciStateError } from './errors';
export type { PciEvent } from './errors';
