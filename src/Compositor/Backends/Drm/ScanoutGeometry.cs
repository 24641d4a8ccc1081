namespace Compositor.Backends.Drm;

/// <summary>
/// Whether a surface's buffer reaches the output unscaled and untransformed, so a plane without scaling can show it
/// as it is. Pure arithmetic on primitive values (the host tests compile this file into their own assembly).
/// </summary>
public static class ScanoutGeometry
{
    /// <summary>
    /// True when the buffer is scaled, cropped or transformed on its way to the output rectangle. A wp_viewport is
    /// not scaling by itself: an identity one (source unset or the whole buffer, destination the buffer's size,
    /// which the output rectangle's size shows) changes nothing, and GStreamer's waylandsink always sets one.
    /// </summary>
    /// <param name="transform">wl_output.transform of the surface (0: normal).</param>
    public static bool IsScaledOrTransformed(int transform, int scale, bool hasSource, double srcX, double srcY, double srcWidth,
        double srcHeight, int outputWidth, int outputHeight, int bufferWidth, int bufferHeight)
    {
        if (transform != 0 || scale != 1) return true;
        if (hasSource && (srcX != 0 || srcY != 0 || srcWidth != bufferWidth || srcHeight != bufferHeight)) return true;
        // The destination (or, without one, the source or buffer size) is the output rectangle's size.
        return outputWidth != bufferWidth || outputHeight != bufferHeight;
    }

    /// <summary>
    /// The buffer rectangle a plane shows for the surface (SRC_X/Y/W/H, whole pixels): the viewport's source, or the
    /// whole buffer. False when a plane cannot be told the geometry yet: a buffer transform (the planes' rotation
    /// property is not used), or a source crop that is not whole pixels. A source whose size differs from the
    /// output rectangle is scaling, which the driver's TEST_ONLY accepts or refuses.
    /// </summary>
    public static bool TryPlaneSource(int transform, bool hasSource, double srcX, double srcY, double srcWidth, double srcHeight,
        int bufferWidth, int bufferHeight, out (int X, int Y, int Width, int Height) source)
    {
        source = (0, 0, bufferWidth, bufferHeight);
        if (transform != 0) return false;
        if (!hasSource) return true;
        if (srcX != Math.Floor(srcX) || srcY != Math.Floor(srcY) || srcWidth != Math.Floor(srcWidth) || srcHeight != Math.Floor(srcHeight)) return false;
        source = ((int)srcX, (int)srcY, (int)srcWidth, (int)srcHeight);
        return true;
    }
}
