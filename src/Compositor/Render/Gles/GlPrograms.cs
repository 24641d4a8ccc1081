using Egl;
using Silk.NET.OpenGL;

namespace Compositor.Render.Gles;

/// <summary>
/// The GL renderer's two shader programs: one samples GL_TEXTURE_2D (uploaded wl_shm and CPU-mapped buffers,
/// EGLImages GL takes as 2D), one samplerExternalOES (EGLImages the driver samples only so: YUV, some tiled
/// layouts; the driver converts YUV to RGB). Opaque formats, the byte order of an upload and the alpha modifier are
/// uniforms of the same program, not programs of their own: the branches are uniform across a draw, and fewer
/// programs mean fewer switches per frame.
/// </summary>
sealed class GlPrograms
{
    public const GLEnum TextureExternal = (GLEnum)0x8D65; // GL_TEXTURE_EXTERNAL_OES

    // Positions come in output pixels; the target's row 0 (memory and GL y = 0) is the output's top row, so a
    // render target needs no flip for scanout and glReadPixels gives rows top first.
    const string VertexShader = """
        attribute vec2 position;
        attribute vec2 texcoord;
        uniform vec2 target;
        varying vec2 v_texcoord;
        void main() {
            v_texcoord = texcoord;
            gl_Position = vec4(position / target * 2.0 - 1.0, 0.0, 1.0);
        }
        """;

    // highp: at mediump (fp16) a texture coordinate is off by more than half a texel past 1024 pixels.
    const string FragmentBody = """
        uniform float alpha;
        uniform bool swap;
        uniform bool opaque;
        varying vec2 v_texcoord;
        void main() {
            vec4 c = texture2D(tex, v_texcoord);
            if (swap) c = c.bgra;
            if (opaque) c.a = 1.0;
            gl_FragColor = c * alpha;
        }
        """;

    public GlPrograms(GL gl, bool external)
    {
        Texture2D = new GlProgram(gl, VertexShader, "precision highp float;\nuniform sampler2D tex;\n" + FragmentBody);
        if (external)
            External = new GlProgram(gl, VertexShader,
                "#extension GL_OES_EGL_image_external : require\nprecision highp float;\nuniform samplerExternalOES tex;\n" + FragmentBody);
    }

    public GlProgram Texture2D { get; }
    /// <summary>Null where GL lacks GL_OES_EGL_image_external.</summary>
    public GlProgram? External { get; }
}

/// <summary>One linked program and its uniform locations.</summary>
sealed class GlProgram
{
    public const uint Position = 0, Texcoord = 1;

    public GlProgram(GL gl, string vertex, string fragment)
    {
        uint vs = Compile(gl, ShaderType.VertexShader, vertex), fs = Compile(gl, ShaderType.FragmentShader, fragment);
        Id = gl.CreateProgram();
        gl.AttachShader(Id, vs);
        gl.AttachShader(Id, fs);
        gl.BindAttribLocation(Id, Position, "position");
        gl.BindAttribLocation(Id, Texcoord, "texcoord");
        gl.LinkProgram(Id);
        gl.GetProgram(Id, ProgramPropertyARB.LinkStatus, out int ok);
        gl.DeleteShader(vs);
        gl.DeleteShader(fs);
        if (ok == 0) throw new EglException($"renderer program did not link: {gl.GetProgramInfoLog(Id)}");
        Target = gl.GetUniformLocation(Id, "target");
        Alpha = gl.GetUniformLocation(Id, "alpha");
        Swap = gl.GetUniformLocation(Id, "swap");
        Opaque = gl.GetUniformLocation(Id, "opaque");
        gl.UseProgram(Id);
        gl.Uniform1(gl.GetUniformLocation(Id, "tex"), 0);
    }

    public uint Id { get; }
    public int Target { get; }
    public int Alpha { get; }
    public int Swap { get; }
    public int Opaque { get; }

    static uint Compile(GL gl, ShaderType type, string source)
    {
        uint shader = gl.CreateShader(type);
        gl.ShaderSource(shader, source);
        gl.CompileShader(shader);
        gl.GetShader(shader, ShaderParameterName.CompileStatus, out int ok);
        if (ok == 0)
        {
            string log = gl.GetShaderInfoLog(shader);
            gl.DeleteShader(shader);
            throw new EglException($"{type} did not compile: {log}");
        }
        return shader;
    }
}
