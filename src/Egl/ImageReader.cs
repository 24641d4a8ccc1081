using Egl.Interop;
using Silk.NET.OpenGL;

namespace Egl;

/// <summary>
/// Reads EGLImages back into memory for the CPU renderer. An image GL can render to is attached to a framebuffer
/// and read with glReadPixels directly: no draw, so no shader runs (under llvmpipe in the test VM a 1:1 draw costs
/// ten times the read). An external-only image (YUV, some tiled layouts) is drawn 1:1 through a
/// samplerExternalOES into an RGBA framebuffer first, which converts it. One reader per display; its GL objects
/// are made once, the shader program on first need, and the draw target is resized only when a bigger image comes.
/// </summary>
internal sealed unsafe class ImageReader
{
    const GLEnum TextureExternal = (GLEnum)0x8D65;   // GL_TEXTURE_EXTERNAL_OES
    const GLEnum BgraExt = (GLEnum)0x80E1;           // GL_BGRA_EXT

    const string VertexShader = """
        attribute vec2 position;
        varying vec2 texcoord;
        void main() {
            texcoord = position * 0.5 + 0.5;
            gl_Position = vec4(position, 0.0, 1.0);
        }
        """;

    // highp: at mediump (fp16) a texture coordinate is off by more than half a texel past 1024 pixels.
    const string FragmentShader = """
        #extension GL_OES_EGL_image_external : require
        precision highp float;
        uniform samplerExternalOES image;
        varying vec2 texcoord;
        void main() {
            gl_FragColor = texture2D(image, texcoord);
        }
        """;

    readonly GL _gl;
    readonly delegate* unmanaged<GLEnum, nint, void> _imageTargetTexture;
    readonly uint _framebuffer;
    uint _program, _quad, _drawFramebuffer, _target;
    readonly GLEnum _readFormat;
    int _targetWidth, _targetHeight;

    public ImageReader(EglDisplay display)
    {
        _gl = display.Gl;
        foreach (var needed in (string[])["GL_OES_EGL_image", "GL_OES_EGL_image_external"])
            if (!display.GlExtensions.Contains(needed)) throw new EglException($"GL on {display.DevicePath} lacks {needed}");
        _imageTargetTexture = (delegate* unmanaged<GLEnum, nint, void>)LibEgl.eglGetProcAddress("glEGLImageTargetTexture2DOES");
        // BGRA reads give DRM ARGB8888 directly, the CPU renderer's own layout.
        _readFormat = display.GlExtensions.Contains("GL_EXT_read_format_bgra") ? BgraExt : GLEnum.Rgba;
        ReadbackFourcc = _readFormat == BgraExt ? Fourcc('A', 'R', '2', '4') : Fourcc('A', 'B', '2', '4');

        _framebuffer = _gl.GenFramebuffer();
        Check("reader setup");
    }

    /// <summary>The DRM fourcc of what <see cref="Read"/> writes.</summary>
    public uint ReadbackFourcc { get; }

    /// <summary>A texture of <paramref name="image"/>: GL_TEXTURE_2D when GL takes the image so (then it is read
    /// directly), else GL_TEXTURE_EXTERNAL_OES (then it is read through a draw). <paramref name="externalOnly"/>
    /// is the driver's word for the pair; a pair it said nothing of (the implicit modifier of a format listed
    /// without modifiers) is tried as 2D first.</summary>
    public (uint Texture, bool External) BindTexture(nint image, bool externalOnly)
    {
        if (!externalOnly && TryBind(image, GLEnum.Texture2D) is { } texture) return (texture, false);
        return (TryBind(image, TextureExternal) ?? throw new EglException("glEGLImageTargetTexture2DOES refused the image as GL_TEXTURE_2D and as GL_TEXTURE_EXTERNAL_OES"), true);
    }

    uint? TryBind(nint image, GLEnum target)
    {
        uint texture = _gl.GenTexture();
        _gl.BindTexture(target, texture);
        _gl.TexParameter(target, GLEnum.TextureMinFilter, (int)GLEnum.Nearest);
        _gl.TexParameter(target, GLEnum.TextureMagFilter, (int)GLEnum.Nearest);
        _gl.TexParameter(target, GLEnum.TextureWrapS, (int)GLEnum.ClampToEdge);
        _gl.TexParameter(target, GLEnum.TextureWrapT, (int)GLEnum.ClampToEdge);
        _imageTargetTexture(target, image);
        if (_gl.GetError() == GLEnum.NoError) return texture;
        _gl.DeleteTexture(texture);
        return null;
    }

    public void DeleteTexture(uint texture) => _gl.DeleteTexture(texture);

    public void Read(uint texture, bool externalOnly, int width, int height, byte* destination)
    {
        if (externalOnly) DrawIntoTarget(texture, width, height);
        else
        {
            _gl.BindFramebuffer(FramebufferTarget.Framebuffer, _framebuffer);
            _gl.FramebufferTexture2D(FramebufferTarget.Framebuffer, FramebufferAttachment.ColorAttachment0, TextureTarget.Texture2D, texture, 0);
            var status = _gl.CheckFramebufferStatus(FramebufferTarget.Framebuffer);
            if (status != GLEnum.FramebufferComplete) throw new EglException($"an image of {width}x{height} cannot be a framebuffer: status 0x{(int)status:x4}");
        }
        // Row 0 of the framebuffer is texture row 0, which is the buffer's first row in memory: no flip.
        _gl.PixelStore(PixelStoreParameter.PackAlignment, 4);
        _gl.ReadPixels(0, 0, (uint)width, (uint)height, _readFormat, PixelType.UnsignedByte, destination);
        Check("image read-back");
    }

    void DrawIntoTarget(uint texture, int width, int height)
    {
        if (_program == 0) SetUpDrawing();
        if (width > _targetWidth || height > _targetHeight)
        {
            _targetWidth = Math.Max(width, _targetWidth);
            _targetHeight = Math.Max(height, _targetHeight);
            _gl.BindTexture(TextureTarget.Texture2D, _target);
            _gl.TexImage2D(TextureTarget.Texture2D, 0, InternalFormat.Rgba, (uint)_targetWidth, (uint)_targetHeight, 0, PixelFormat.Rgba, PixelType.UnsignedByte, null);
            _gl.BindFramebuffer(FramebufferTarget.Framebuffer, _drawFramebuffer);
            _gl.FramebufferTexture2D(FramebufferTarget.Framebuffer, FramebufferAttachment.ColorAttachment0, TextureTarget.Texture2D, _target, 0);
            var status = _gl.CheckFramebufferStatus(FramebufferTarget.Framebuffer);
            if (status != GLEnum.FramebufferComplete) throw new EglException($"read-back framebuffer {_targetWidth}x{_targetHeight} incomplete: 0x{(int)status:x4}");
        }
        _gl.BindFramebuffer(FramebufferTarget.Framebuffer, _drawFramebuffer);
        _gl.Viewport(0, 0, (uint)width, (uint)height);
        _gl.UseProgram(_program);
        _gl.BindBuffer(BufferTargetARB.ArrayBuffer, _quad);
        _gl.VertexAttribPointer(0, 2, VertexAttribPointerType.Float, false, 0, null);
        _gl.EnableVertexAttribArray(0);
        _gl.ActiveTexture(TextureUnit.Texture0);
        _gl.BindTexture(TextureExternal, texture);
        _gl.DrawArrays(PrimitiveType.TriangleStrip, 0, 4);
    }

    void SetUpDrawing()
    {
        _program = Link(Compile(ShaderType.VertexShader, VertexShader), Compile(ShaderType.FragmentShader, FragmentShader));
        _gl.UseProgram(_program);
        _gl.Uniform1(_gl.GetUniformLocation(_program, "image"), 0);
        _quad = _gl.GenBuffer();
        _gl.BindBuffer(BufferTargetARB.ArrayBuffer, _quad);
        ReadOnlySpan<float> corners = [-1, -1, 1, -1, -1, 1, 1, 1];
        _gl.BufferData(BufferTargetARB.ArrayBuffer, corners, BufferUsageARB.StaticDraw);
        _drawFramebuffer = _gl.GenFramebuffer();
        _target = _gl.GenTexture();
        Check("read-back drawing setup");
    }

    uint Compile(ShaderType type, string source)
    {
        uint shader = _gl.CreateShader(type);
        _gl.ShaderSource(shader, source);
        _gl.CompileShader(shader);
        _gl.GetShader(shader, ShaderParameterName.CompileStatus, out int ok);
        if (ok == 0) throw new EglException($"{type} did not compile: {_gl.GetShaderInfoLog(shader)}");
        return shader;
    }

    uint Link(uint vertex, uint fragment)
    {
        uint program = _gl.CreateProgram();
        _gl.AttachShader(program, vertex);
        _gl.AttachShader(program, fragment);
        _gl.BindAttribLocation(program, 0, "position");
        _gl.LinkProgram(program);
        _gl.GetProgram(program, ProgramPropertyARB.LinkStatus, out int ok);
        if (ok == 0) throw new EglException($"read-back program did not link: {_gl.GetProgramInfoLog(program)}");
        _gl.DeleteShader(vertex);
        _gl.DeleteShader(fragment);
        return program;
    }

    void Check(string what)
    {
        var error = _gl.GetError();
        if (error != GLEnum.NoError) throw new EglException($"{what}: GL error 0x{(int)error:x4}");
    }

    static uint Fourcc(char a, char b, char c, char d) => a | (uint)b << 8 | (uint)c << 16 | (uint)d << 24;
}
