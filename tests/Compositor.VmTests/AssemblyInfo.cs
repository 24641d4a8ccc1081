using Xunit;

// One test at a time. Most of these tests open vkms's card0, if only for a moment (the compositor's default
// main-device probe, GBM in the weston clients, the DRM backend), and the kernel makes whoever opens a card
// while nobody holds DRM master its master: a test in parallel could take master from under the DRM
// backend's tests. (Under the VM's emulation, parallel classes also gained little on 2 CPUs.)
[assembly: CollectionBehavior(DisableTestParallelization = true)]
