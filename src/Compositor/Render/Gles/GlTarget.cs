using Egl;
using Silk.NET.OpenGL;

namespace Compositor.Render.Gles;

/// <summary>A GL framebuffer object the GL renderer paints: row 0 of its memory is the output's top row.</summary>
public abstract class GlTarget(int width, int height) : RenderTarget(width, height)
{
    public abstract uint Framebuffer { get; }
}

/// <summary>A headless output's target: an RGBA texture as the colour attachment of a framebuffer. A texture
/// rather than a renderbuffer because GLES 2 has RGBA8 renderbuffers only with GL_OES_rgb8_rgba8.</summary>
public sealed class GlTextureTarget : GlTarget
{
    readonly GL _gl;
    readonly uint _texture, _framebuffer;

    public unsafe GlTextureTarget(GL gl, int width, int height) : base(width, height)
    {
        _gl = gl;
        _texture = gl.GenTexture();
        gl.BindTexture(TextureTarget.Texture2D, _texture);
        gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureMinFilter, (int)GLEnum.Nearest);
        gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureMagFilter, (int)GLEnum.Nearest);
        gl.TexImage2D(TextureTarget.Texture2D, 0, InternalFormat.Rgba, (uint)width, (uint)height, 0, PixelFormat.Rgba, PixelType.UnsignedByte, null);
        _framebuffer = gl.GenFramebuffer();
        gl.BindFramebuffer(FramebufferTarget.Framebuffer, _framebuffer);
        gl.FramebufferTexture2D(FramebufferTarget.Framebuffer, FramebufferAttachment.ColorAttachment0, TextureTarget.Texture2D, _texture, 0);
        var status = gl.CheckFramebufferStatus(FramebufferTarget.Framebuffer);
        if (status != GLEnum.FramebufferComplete)
        {
            Dispose();
            throw new EglException($"a {width}x{height} render target is incomplete: status 0x{(int)status:x4}");
        }
    }

    public override uint Framebuffer => _framebuffer;

    public override void Dispose()
    {
        _gl.DeleteFramebuffer(_framebuffer);
        _gl.DeleteTexture(_texture);
    }
}
