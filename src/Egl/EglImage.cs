namespace Egl;

/// <summary>
/// A dma-buf imported as an EGLImage, and the GL texture that samples it (made on first use). The driver knows
/// the buffer's real layout, implicit modifier included, so reading through the image is correct where mapping
/// the dma-buf for the CPU would not be.
/// </summary>
public sealed class EglImage : IDisposable
{
    readonly EglDisplay _display;
    nint _image;
    uint _texture;
    bool _external;

    internal EglImage(EglDisplay display, nint image, int width, int height, bool externalOnly)
    {
        _display = display;
        _image = image;
        Width = width;
        Height = height;
        ExternalOnly = externalOnly;
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>The driver samples this image only through GL_TEXTURE_EXTERNAL_OES (YUV, some tiled layouts).</summary>
    public bool ExternalOnly { get; }
    /// <summary>The GL texture of the image (0 before <see cref="PrepareForReading"/>, which importers call):
    /// a renderer samples it directly.</summary>
    public uint Texture => _texture;
    /// <summary>Whether <see cref="Texture"/> is a GL_TEXTURE_EXTERNAL_OES (else GL_TEXTURE_2D).</summary>
    public bool IsExternalTexture => _external;

    /// <summary>Binds the image to a GL texture and reads one pixel through it (once). Importers call it at
    /// import, so that an image the driver cannot read fails the import instead of every repaint: Mesa's
    /// kms_swrast, for one, creates images of dma-bufs other devices exported but cannot map them
    /// (GL_OUT_OF_MEMORY at the first read).</summary>
    public unsafe void PrepareForReading()
    {
        ObjectDisposedException.ThrowIf(_image == 0, this);
        if (_texture != 0) return;
        (_texture, _external) = _display.Reader.BindTexture(_image, ExternalOnly);
        uint pixel;
        _display.Reader.Read(_texture, _external, 1, 1, (byte*)&pixel);
    }

    /// <summary>Writes the image as rows of <see cref="Width"/> 32-bit pixels, top row first, into
    /// <paramref name="destination"/> (at least Width * Height * 4 bytes), in <see cref="EglDisplay.ReadbackFourcc"/>.</summary>
    public unsafe void ReadPixels(byte* destination)
    {
        PrepareForReading();
        _display.Reader.Read(_texture, _external, Width, Height, destination);
    }

    public void Dispose()
    {
        if (_image == 0) return;
        // After the display (at exit, images of buffers still on a plane): eglTerminate freed them already.
        if (!_display.IsDisposed)
        {
            if (_texture != 0) _display.Reader.DeleteTexture(_texture);
            _display.DestroyImage(_image);
        }
        _image = 0;
        _texture = 0;
    }
}
