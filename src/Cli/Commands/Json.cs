using System.Text.Encodings.Web;
using System.Text.Json;

namespace BitActors.Cli.Commands;

internal static class Json
{
    /// <summary>Plain JSON for people and tools: "GN+WS", not "GN\u002BWS".</summary>
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
