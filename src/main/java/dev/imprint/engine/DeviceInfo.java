package dev.imprint.engine;

/**
 * The accelerator a backend scores on, for GetServerInfo.
 *
 * @param name              as the driver names it, e.g. "NVIDIA H200"
 * @param computeCapability e.g. "sm_90"
 * @param driverVersion     the CUDA version the driver supports, e.g. "13.0"
 * @param totalBytes        device memory in all
 * @param freeBytes         device memory free when asked
 */
public record DeviceInfo(String name, String computeCapability, String driverVersion, long totalBytes,
                         long freeBytes) {
}
