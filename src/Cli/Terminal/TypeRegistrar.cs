using Microsoft.Extensions.DependencyInjection;
using Spectre.Console.Cli;

namespace BitActors.Cli.Terminal;

/// <summary>
/// Spectre.Console.Cli's commands built by Microsoft.Extensions.DependencyInjection, so they take what they
/// need (the <see cref="Spectre.Console.IAnsiConsole"/> they write to) in their constructors.
/// </summary>
public sealed class TypeRegistrar(IServiceCollection services) : ITypeRegistrar
{
    public ITypeResolver Build() => new TypeResolver(services.BuildServiceProvider());

    public void Register(Type service, Type implementation) => services.AddSingleton(service, implementation);

    public void RegisterInstance(Type service, object implementation) => services.AddSingleton(service, implementation);

    public void RegisterLazy(Type service, Func<object> factory) => services.AddSingleton(service, _ => factory());

    private sealed class TypeResolver(ServiceProvider provider) : ITypeResolver, IDisposable
    {
        public object? Resolve(Type? type) => type is null ? null : provider.GetService(type);

        public void Dispose() => provider.Dispose();
    }
}
