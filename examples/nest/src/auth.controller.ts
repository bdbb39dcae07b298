import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import { Auth, Authenticated, RequireClaims, TesseraService, type Identity } from '@tessera/auth/nest';
import type { Request, Response } from 'express';
import { checkPassword, type User } from './users';

@Controller()
export class AuthController {
  constructor(private readonly tessera: TesseraService<User>) {}

  @Post('auth/login')
  login(@Req() req: Request, @Res() res: Response) {
    return this.tessera.login(req, res, checkPassword, { transports: ['bearer', 'cookie'] });
  }

  @Post('auth/refresh')
  refresh(@Req() req: Request, @Res() res: Response) {
    return this.tessera.refresh(req, res);
  }

  @Post('auth/logout')
  logout(@Req() req: Request, @Res() res: Response) {
    return this.tessera.logout(req, res);
  }

  @Get('me')
  @Authenticated()
  me(@Auth() auth: Identity<User>) {
    return { id: auth.sub, ...auth.user };
  }

  @Get('admin')
  @RequireClaims({ roles: 'admin' })
  admin(@Auth() auth: Identity<User>) {
    return { hello: auth.user?.name };
  }
}
