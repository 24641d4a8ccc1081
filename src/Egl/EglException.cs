using Egl.Interop;

namespace Egl;

/// <summary>An EGL or GL call failed; the message names the call and the error.</summary>
public sealed class EglException(string message) : Exception(message)
{
    internal static EglException Last(string call) => new($"{call}: {LibEgl.ErrorName(LibEgl.eglGetError())}");
}
