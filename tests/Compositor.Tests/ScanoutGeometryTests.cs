using Compositor.Backends.Drm;
using Xunit;

namespace Compositor.Tests;

/// <summary>Plane assignment's "scaled or transformed" rule: an identity viewport is no scaling.</summary>
public class ScanoutGeometryTests
{
    const int W = 640, H = 480;

    static bool Scaled(int transform = 0, int scale = 1, bool src = false, double sx = 0, double sy = 0, double sw = 0, double sh = 0,
        int outW = W, int outH = H) => ScanoutGeometry.IsScaledOrTransformed(transform, scale, src, sx, sy, sw, sh, outW, outH, W, H);

    [Fact]
    public void NoViewportAndAnIdentityViewportAreNotScaling()
    {
        Assert.False(Scaled());                                    // no viewport
        Assert.False(Scaled(src: true, sw: W, sh: H));             // source = the whole buffer, destination its size
        Assert.False(Scaled(src: false, outW: W, outH: H));        // destination only, = buffer size (waylandsink)
    }

    [Fact]
    public void CropsScalesAndTransformsAreScaling()
    {
        Assert.True(Scaled(src: true, sx: 1, sw: W - 1, sh: H));   // cropped
        Assert.True(Scaled(src: true, sw: W, sh: H - 0.5));        // fractional crop
        Assert.True(Scaled(src: true, sw: W / 2, sh: H / 2, outW: W, outH: H)); // half the buffer, stretched to its size
        Assert.True(Scaled(outW: W * 2, outH: H * 2));             // destination twice the size
        Assert.True(Scaled(outW: W, outH: H - 1));
        Assert.True(Scaled(transform: 1, outW: H, outH: W));       // 90 degrees
        Assert.True(Scaled(scale: 2, outW: W / 2, outH: H / 2));   // buffer scale 2
    }
}
