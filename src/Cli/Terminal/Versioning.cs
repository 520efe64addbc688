using System.Reflection;

namespace BitActors.Cli.Terminal;

/// <summary>The version of this build: the project's <c>Version</c> (Directory.Build.props), without git metadata.</summary>
public static class Versioning
{
    public static string Current { get; } =
        (typeof(Versioning).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];
}
